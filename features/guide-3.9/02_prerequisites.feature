@prerequisites
Feature: Prerequisites
  The Parsec Server depends on the following components: a PostgreSQL database to store Parsec
  metadata, an S3-like object storage to store encrypted data, an SMTP server to allow sending
  emails from the Parsec Server, and a TLS/SSL server certificate for HTTPS communication with
  Parsec client applications. Sentry, CryptPad and OpenBAO are optional; this deployment uses
  none of them. The chosen stack says what provides each component.

  Scenario Outline: <component> is present for the chosen stack
    Then the stack provides "<component>"

    Examples:
      | component                    |
      | A PostgreSQL database        |
      | An S3 object storage         |
      | An SMTP server               |
      | A TLS/SSL server certificate |
      | The guide's shell scripts    |
      | Parsec server and client     |
      | A reverse proxy              |
