@tls_recommendation @tls_server_configuration
Feature: TLS Server configuration
  We recommend that connections to the service are made using a TLS layer. When users connect
  directly to the server, configure TLS on the server: PARSEC_SSL_KEYFILE, PARSEC_SSL_CERTFILE and
  PARSEC_SSL_CIPHERS (a list of ciphers that can be used when the client & server negotiate).

  Background:
    Given parsec-server is running

  Scenario: The server negotiates only the ciphers of PARSEC_SSL_CIPHERS
    Then parsec-server accepts a TLS 1.2 client offering only a cipher of PARSEC_SSL_CIPHERS
    And parsec-server refuses a TLS 1.2 client offering only ciphers outside PARSEC_SSL_CIPHERS
