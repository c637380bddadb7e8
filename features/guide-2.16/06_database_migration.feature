@database_migration
Feature: Applying the database migration
  On the first start, a one-time configuration is required for the database and s3 services.

  Background:
    Given the services are started

  Scenario: Check that the database is accessible
    When I connect with the DSN of "parsec-db.env"
    Then I am connected to database "parsec" as the user of the DSN

  Scenario: To bootstrap the database we just need to apply the migrations
    When I apply the migrations with "docker compose -f parsec-server.docker.yaml run parsec-backend migrate"
    Then the migration succeeds
    And every migration the release ships is recorded as applied
    When I apply the migrations again
    Then the migration succeeds
    And no migration is applied twice
