/* proofs/crypto/cert/include/openssl/x509v3.h: the model is in x509.h. */
#include <openssl/x509.h>
