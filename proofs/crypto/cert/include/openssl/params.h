/* proofs/crypto/cert/include/openssl/params.h: the model is in core.h. */
#include <openssl/core.h>
