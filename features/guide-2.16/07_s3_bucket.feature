@s3_bucket
Feature: Create the S3 Bucket
  Create a new bucket named parsec with the features object locking toggled on, using the
  credentials specified in the docker-compose file at services.parsec-s3.environment.MINIO_ROOT_{USER,PASSWORD}.
  The Parsec server needs an S3 object storage to store the data blocks (Preamble).

  Background:
    Given the services are started

  Scenario: Create a new bucket named parsec with object locking
    When I create the bucket "parsec" with object locking using the credentials of the compose file
    Then the bucket "parsec" reports object lock "Enabled"
    And the bucket "parsec" reports versioning "Enabled"

  Scenario: The S3 service refuses a wrong secret
    Then listing the buckets with a wrong secret is refused

  Scenario: Restart the parsec-backend
    Given the database is migrated
    And the bucket "parsec" exists with object locking
    When I restart parsec-backend
    Then parsec-backend serves HTTPS on the address it is published on
    And parsec-backend presents the certificate of parsec-backend, issued by the custom CA
    And parsec-backend listens only where the guide publishes it

  Scenario: The server stores the data blocks in the bucket
    Given parsec-backend is running
    When the first user of the organization "DataBlocks" writes a file through the server
    Then the bucket "parsec" holds the blocks of the file under the name of the organization
