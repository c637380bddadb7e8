@deploy_docker
Feature: The Docker Compose file
  You can use the following Docker Compose file (parsec-server.docker.yaml) to deploy Parsec
  Server for testing. It will setup 4 services (the table lists five: parsec-proxy is the fifth).

  @docker_requirements
  Scenario: Additional Requirements
    Then the stack provides "Docker Engine and Docker Compose"

  @compose_file
  Scenario: It will setup the services of the table
    Then the compose file declares the services:
      | service         | description                | image                         |
      | parsec-postgres | The PostgreSQL database    | postgres                      |
      | parsec-s3       | The Object Storage service | quay.io/minio/minio           |
      | parsec-smtp     | A mock SMTP server         | mailhog/mailhog               |
      | parsec-server   | The Parsec Server          | the release's server image    |
      | parsec-proxy    | A Nginx proxy server       | nginx                         |
    And every image is pinned to a version

  @compose_file
  Scenario: Only the proxy is published beyond 127.0.0.1
    Then the compose file publishes these ports on 127.0.0.1 only:
      | service         | port |
      | parsec-postgres | 5432 |
      | parsec-s3       | 9090 |
      | parsec-s3       | 9000 |
      | parsec-smtp     | 1025 |
      | parsec-smtp     | 8025 |
      | parsec-server   | 6777 |
    And no port but the ports 80 and 443 of parsec-proxy is published on all interfaces

  @compose_file
  Scenario: The parsec-server service gets the env files and the secrets
    Then the parsec-server service reads the env files "parsec.env, parsec-s3.env, parsec-db.env, parsec-smtp.env, parsec-admin-token.env"
    And the parsec-server service gets the secrets of the CA, of its certificate and of its key
    And AWS_CA_BUNDLE of parsec-server is the custom CA secret
    And parsec-proxy mounts parsec-nginx.conf, its certificate and its key
