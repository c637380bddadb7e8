@tls_certificates
Feature: Generating the required TLS certificates
  For this guide, the required TLS certificates will be generated with a custom Certificate
  Authority (CA) created for this purpose.

  Scenario: The script generates the CA key & self-signed certificate
    When I run "setup-tls.sh"
    Then the script succeeds
    And "custom-ca.key" and "custom-ca.crt" exist
    And the CA certificate is self-signed and is a CA with an RSA 4096 key

  Scenario Outline: The script generates the key, the CSR and the certificate of <service>
    Given the TLS certificates are generated
    Then the certificate of <service> is issued and signed by the custom CA
    And the certificate of <service> names DNS:<service>, DNS:localhost and IP:127.0.0.1
    And the certificate of <service> is valid now
    And "<service>.key", "<service>.csr" and "<service>.crt" exist
    And the key of <service> matches its certificate

    Examples:
      | service        |
      | parsec-s3      |
      | parsec-backend |

  Scenario: The key of parsec-backend is readable by the group 1234
    Given the TLS certificates are generated
    Then "parsec-backend.key" has group id 1234 and mode 640

  Scenario: Running the script again changes nothing
    Given the TLS certificates are generated
    When I run "setup-tls.sh" again
    Then the script succeeds
    And no certificate, key or mode has changed
