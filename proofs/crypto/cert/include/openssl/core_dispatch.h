/* proofs/crypto/cert/include/openssl/core_dispatch.h: the model is in core.h. */
#include <openssl/core.h>
