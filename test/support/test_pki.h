#pragma once
// A throwaway PKI for TLS tests, made with the openssl CLI at test time: a
// CA (ca.crt, ca.key) and server certificates signed by it, each with the
// subjectAltName given (<name>.crt, <name>.key). EC P-256 keys, valid two
// days. openssl comes from scripts/install-deps.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace spectra::testing {

struct TestPki {
  std::filesystem::path dir;
  bool ok = false;  // false: openssl failed; see log()
  std::string ca() const { return (dir / "ca.crt").string(); }
  std::string cert(const std::string& name) const { return (dir / (name + ".crt")).string(); }
  std::string key(const std::string& name) const { return (dir / (name + ".key")).string(); }
  std::string log() const { return (dir / "openssl.log").string(); }
};

// `certs`: (name, subjectAltName), e.g. {"good", "DNS:localhost,IP:127.0.0.1"}.
inline TestPki make_test_pki(const std::filesystem::path& dir,
                             const std::vector<std::pair<std::string, std::string>>& certs) {
  TestPki pki{dir, false};
  std::filesystem::create_directories(dir);
  const std::string d = dir.string();
  const std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  std::string script = "set -e; cd " + d + "; " + "timeout 30 openssl req -x509 " + key +
                       " -keyout ca.key -out ca.crt -days 2 -subj '/CN=spectra test CA'; ";
  for (const auto& [n, san] : certs) {
    std::ofstream(dir / (n + ".ext")) << "subjectAltName=" << san << "\n";
    script += "timeout 30 openssl req " + key + " -keyout " + n + ".key -out " + n + ".csr -subj '/CN=" + n +
              "'; " + "timeout 30 openssl x509 -req -in " + n + ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -out " +
              n + ".crt -days 2 -extfile " + n + ".ext; ";
  }
  const std::string cmd = "sh -c \"" + script + "\" >" + d + "/openssl.log 2>&1";
  pki.ok = std::system(cmd.c_str()) == 0;
  return pki;
}

}  // namespace spectra::testing
