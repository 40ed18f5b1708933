#pragma once
// A throwaway self-signed certificate for 127.0.0.1, made at test time (nothing secret is kept in
// the repository), and a TLS server context that presents it.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <string>

namespace cellfleet::storage::testing {

class TestCertificate {
 public:
  TestCertificate() {
    key_ = EVP_EC_gen("P-256");
    cert_ = X509_new();
    if (key_ == nullptr || cert_ == nullptr)
      throw std::runtime_error("test certificate: no memory");
    X509_set_version(cert_, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert_), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert_), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert_), 3600);
    X509_set_pubkey(cert_, key_);
    X509_NAME* name = X509_get_subject_name(cert_);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
    X509_set_issuer_name(cert_, name);
    X509V3_CTX context;
    X509V3_set_ctx_nodb(&context);
    X509V3_set_ctx(&context, cert_, cert_, nullptr, nullptr, 0);
    for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1"},
                              std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
      X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
      X509_add_ext(cert_, extension, -1);
      X509_EXTENSION_free(extension);
    }
    if (X509_sign(cert_, key_, EVP_sha256()) == 0) throw std::runtime_error("test certificate");

    pem_path_ = (std::filesystem::temp_directory_path() /
                 ("cellfleet-test-ca-" + std::to_string(std::random_device{}()) + ".pem"))
                    .string();
    FILE* file = std::fopen(pem_path_.c_str(), "w");
    if (file == nullptr || PEM_write_X509(file, cert_) != 1) {
      throw std::runtime_error("test certificate: cannot write " + pem_path_);
    }
    std::fclose(file);

    server_ = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(server_, cert_);
    SSL_CTX_use_PrivateKey(server_, key_);
  }

  ~TestCertificate() {
    SSL_CTX_free(server_);
    X509_free(cert_);
    EVP_PKEY_free(key_);
    std::filesystem::remove(pem_path_);
  }

  TestCertificate(const TestCertificate&) = delete;
  TestCertificate& operator=(const TestCertificate&) = delete;

  const std::string& pem_path() const { return pem_path_; }  // to trust it
  SSL_CTX* server_context() const { return server_; }

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  SSL_CTX* server_ = nullptr;
  std::string pem_path_;
};

}  // namespace cellfleet::storage::testing
