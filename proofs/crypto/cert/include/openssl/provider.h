/* proofs/crypto/cert/include/openssl/provider.h: the model is in core.h. */
#include <openssl/core.h>
