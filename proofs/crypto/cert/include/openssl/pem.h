/* proofs/crypto/cert/include/openssl/pem.h: the model is in x509.h. */
#include <openssl/x509.h>
