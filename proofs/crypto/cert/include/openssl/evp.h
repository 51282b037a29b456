/* proofs/crypto/cert/include/openssl/evp.h: the model is in x509.h. */
#include <openssl/x509.h>
