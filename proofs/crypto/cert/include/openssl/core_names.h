/* proofs/crypto/cert/include/openssl/core_names.h: the model is in core.h. */
#include <openssl/core.h>
