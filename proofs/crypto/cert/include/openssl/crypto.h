/* proofs/crypto/cert/include/openssl/crypto.h: the model is in x509.h. */
#include <openssl/x509.h>
