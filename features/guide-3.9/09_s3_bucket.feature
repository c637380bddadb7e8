@deploy_docker @initial_configuration @s3_bucket
Feature: Create the S3 Bucket
  Create a new bucket named parsec with the features object locking toggled on, using the
  credentials specified in parsec-server.docker.yaml (MINIO_ROOT_USER, MINIO_ROOT_PASSWORD).
  After that you will need to restart the parsec-server.

  Background:
    Given the services are started

  Scenario: Create a new bucket named parsec with object locking
    When I create the bucket "parsec" with object locking using the credentials of the compose file
    Then the bucket "parsec" reports object lock "Enabled"
    And the bucket "parsec" reports versioning "Enabled"

  Scenario: The S3 service refuses a wrong secret
    Then listing the buckets with a wrong secret is refused

  Scenario: Restart the parsec-server
    Given the database is migrated
    And the bucket "parsec" exists with object locking
    When I restart parsec-server
    Then parsec-server serves HTTPS on the address it is published on
    And parsec-server presents the certificate of parsec-server, issued by the custom CA
    And parsec-server listens only where the guide publishes it

  Scenario: The server stores the data blocks in the bucket
    Given parsec-server is running
    When the first user of the organization "DataBlocks" writes a file through the server
    Then the bucket "parsec" holds the blocks of the file under the name of the organization
