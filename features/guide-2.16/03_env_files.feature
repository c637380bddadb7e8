@env_files
Feature: The env files
  We split the configuration of the parsec server into multiple env files so it's simpler to
  understand how to configure each part.

  @env_admin_token
  Scenario: The administration token
    When I run "gen-admin-token.sh"
    Then the script succeeds
    And "parsec-admin-token.env" holds PARSEC_ADMINISTRATION_TOKEN made of 63 random bytes
    When I run "gen-admin-token.sh" again
    Then the administration token is unchanged

  @env_database
  Scenario: Database configuration
    Then "parsec-db.env" sets PARSEC_DB to the PostgreSQL database of the compose file
    And "parsec-db.env" sets PARSEC_DB_MIN_CONNECTIONS to "5" and PARSEC_DB_MAX_CONNECTIONS to "7"
    And none of the checks of "parsec-db.env" fails

  @env_smtp
  Scenario: SMTP configuration
    Then "parsec-smtp.env" sets PARSEC_EMAIL_HOST and PARSEC_EMAIL_PORT to the SMTP service of the compose file
    And "parsec-smtp.env" sets the sender, the user, the password and the language of the emails
    And none of the checks of "parsec-smtp.env" fails

  @env_s3
  Scenario: S3 service configuration
    Then "parsec-s3.env" sets PARSEC_BLOCKSTORE to the bucket "parsec" of the S3 service of the compose file
    And the port in PARSEC_BLOCKSTORE is escaped with a backslash
    And none of the checks of "parsec-s3.env" fails

  @env_server
  Scenario: Parsec server configuration
    Given the TLS certificates are generated
    Then "parsec.env" sets the TLS key and certificate to the secrets of the parsec-backend service
    And "parsec.env" sets the server's public address to the address parsec-backend is published on
    And "parsec.env" disables the spontaneous organization bootstrap
    And none of the checks of "parsec.env" fails

  Scenario: Every file the compose file references exists after the guide's steps
    Given the TLS certificates are generated
    And the administration token is generated
    Then every env file, secret and volume file the compose file references exists
