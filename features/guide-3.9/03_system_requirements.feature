@system_requirements
Feature: System Requirements
  Minimum system requirements. Hardware: 1 vCPU/core with 1GB RAM. Database: PostgreSQL v16+,
  20GB for metadata storage. S3 Object Storage: 2TB for encrypted data storage.
  The storage sizes are for a production deployment's data; they are not checked here.

  Scenario: The server's machine and its database meet the minimum
    Given the services are started
    Then the machine of parsec-server has at least 1 CPU core and 1 GB of RAM
    And the database of "parsec-db.env" is PostgreSQL 16 or later
