@compose_file
Feature: The docker-compose file
  You can use the following docker-compose file (parsec-server.docker.yaml) to deploy the
  Parsec server for testing. It will setup 4 services.

  Scenario: It will setup 4 services
    Then the compose file declares the services:
      | service         | description                | image                                            |
      | parsec-postgres | The PostgreSQL database    | postgres                                         |
      | parsec-s3       | The Object Storage service | quay.io/minio/minio                              |
      | parsec-smtp     | A mock SMTP server         | mailhog/mailhog                                  |
      | parsec-backend  | The Parsec server          | the release's server image                       |
    And every image is pinned to a version

  Scenario: The console, the mail web UI and the server are published on 127.0.0.1 only
    Then the compose file publishes these ports on 127.0.0.1 only:
      | service        | port |
      | parsec-s3      | 9090 |
      | parsec-smtp    | 1025 |
      | parsec-smtp    | 8025 |
      | parsec-backend | 6777 |
    And no port is published on all interfaces

  Scenario: The parsec-backend service gets the env files and the secrets
    Then the parsec-backend service reads the env files "parsec-admin-token.env, parsec-db.env, parsec-smtp.env, parsec-s3.env, parsec.env"
    And the parsec-backend service gets the secrets of the CA, of its certificate and of its key
    And AWS_CA_BUNDLE of parsec-backend is the custom CA secret
