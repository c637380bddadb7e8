@requirements @preamble
Feature: Requirements and Preamble
  The Parsec server depends on the following external components in order to work properly:
  a PostgreSQL database to store the metadata, an S3 object storage to store the data blocks,
  an SMTP server for sending emails and a TLS/SSL server certificate for HTTPS communication
  with the clients. The chosen stack says what provides each of them.

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
