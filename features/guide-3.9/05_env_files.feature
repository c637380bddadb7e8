@env_files
Feature: Set up the env files
  The easiest way to configure the Parsec Sever is by using environment variables. These
  variables can be stored in a file and sourced before running the server. The env files are read
  by docker compose on the Docker path and by bash (set -a; source) on the Linux path.

  @env_admin_token
  Scenario: The administration token
    When I run "gen-admin-token.sh"
    Then the script succeeds
    And "parsec-admin-token.env" holds PARSEC_ADMINISTRATION_TOKEN and PARSEC_FAKE_ACCOUNT_PASSWORD_ALGORITHM_SEED, each of 32 random bytes in hex
    When I run "gen-admin-token.sh" again
    Then the administration token is unchanged

  @env_database
  Scenario: Database env file
    Then "parsec-db.env" sets PARSEC_DB to the PostgreSQL database of the compose file
    And "parsec-db.env" sets PARSEC_DB_MIN_CONNECTIONS to "5" and PARSEC_DB_MAX_CONNECTIONS to "7"
    And none of the checks of "parsec-db.env" fails

  @env_smtp
  Scenario: SMTP env file
    Then "parsec-smtp.env" sets PARSEC_EMAIL_HOST and PARSEC_EMAIL_PORT to the SMTP service of the compose file
    And "parsec-smtp.env" sets the sender, the user and the password of the emails
    And none of the checks of "parsec-smtp.env" fails

  @env_s3
  Scenario: S3 env file
    Then "parsec-s3.env" sets PARSEC_BLOCKSTORE to the bucket "parsec" of the S3 service of the compose file
    And the port in PARSEC_BLOCKSTORE is escaped with a backslash
    And none of the checks of "parsec-s3.env" fails

  @env_server
  Scenario: Parsec env file
    Given the TLS certificates are generated
    Then "parsec.env" sets the TLS key and certificate to the secrets of the parsec-server service
    And "parsec.env" sets the server's public address to the address clients reach through parsec-proxy
    And "parsec.env" sets the ciphers of PARSEC_SSL_CIPHERS, line by line, to the list the guide recommends
    And "parsec.env" makes the server trust parsec-proxy with the forwarded headers
    And none of the checks of "parsec.env" fails

  Scenario: Every variable of the env files is one the Parsec server reads
    Given the administration token is generated
    Then every variable the env files and the compose file give parsec-server is one the release reads

  Scenario: The env files read the same by docker compose and by bash
    Given the administration token is generated
    Then docker compose reads every env file of parsec-server as the guide wrote it
