@deploy_linux
Feature: Deploy with Linux
  This section describes how to install Parsec Server directly on Linux: a virtual env, the
  package from PyPI, the migrations, and a wrapper script run-parsec-server that sources every
  env file. Here it runs against the same PostgreSQL, S3 and SMTP services as the Docker path.

  @linux_requirements
  Scenario: Additional Requirements
    Then the stack provides "Python v3.12 with pip and venv"

  @linux_setup
  Scenario: Set up: bash reads the env files as the guide wrote them
    Given the administration token is generated
    Then bash reads every env file that run-parsec-server sources as the guide wrote it

  @linux_installation
  Scenario: Installation
    When I set up the virtual env and install Parsec Server with "python -m pip install 'parsec-cloud==3.9.3'"
    Then the virtual env runs Parsec Server of the release under test
    Given the services are started
    When I apply the migrations with "set -a; source parsec-db.env; python -m parsec migrate"
    Then the migration succeeds
    And every migration the release ships is recorded as applied

  @linux_start
  Scenario: Start the server
    Given the bucket "parsec" exists with object locking
    And the Parsec Server is installed in the virtual env and the database is migrated
    When I start Parsec Server with the wrapper "./run-parsec-server"
    Then the server of the wrapper serves HTTPS with the certificate of parsec-server
    And the server of the wrapper accepts the administration token of "parsec-admin-token.env"
