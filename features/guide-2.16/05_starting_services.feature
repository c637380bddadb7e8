@starting_services
Feature: Starting the services
  The docker containers can be started as follow:
  docker compose -f parsec-server.docker.yaml up

  Scenario: The services are up and answer
    Given the TLS certificates are generated
    And the administration token is generated
    When the services are started
    Then parsec-postgres accepts the credentials of the compose file
    And parsec-postgres refuses a wrong password
    And parsec-s3 answers HTTPS with a certificate that verifies against the custom CA
    And parsec-smtp answers EHLO
    And the mail web interface of parsec-smtp answers
    And parsec-smtp listens only where the guide publishes it
