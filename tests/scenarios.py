"""The guide's scenarios the harness's tests name: feature title, scenario title.

An outline's ``{}`` is its example row (``TLS_SERVICE.format("parsec-s3")``). Named by the guide's words,
not by pytest's test names, so renaming a Python function cannot break a self-test; a renamed
scenario fails them loudly (``tests.runner.not_in_the_features``).
"""

from __future__ import annotations

from tests.runner import Scenario

COMPONENT = Scenario("Requirements and Preamble", "{} is present for the chosen stack")
TLS_CA = Scenario(
    "Generating the required TLS certificates", "The script generates the CA key & self-signed certificate"
)
TLS_SERVICE = Scenario(
    "Generating the required TLS certificates", "The script generates the key, the CSR and the certificate of {}"
)
TLS_GROUP = Scenario(
    "Generating the required TLS certificates", "The key of parsec-backend is readable by the group 1234"
)
TLS_AGAIN = Scenario("Generating the required TLS certificates", "Running the script again changes nothing")
ENV_TOKEN = Scenario("The env files", "The administration token")
ENV_DB = Scenario("The env files", "Database configuration")
ENV_SMTP = Scenario("The env files", "SMTP configuration")
ENV_S3 = Scenario("The env files", "S3 service configuration")
ENV_PARSEC = Scenario("The env files", "Parsec server configuration")
ENV_REFERENCED = Scenario("The env files", "Every file the compose file references exists after the guide's steps")
COMPOSE_SERVICES = Scenario("The docker-compose file", "It will setup 4 services")
COMPOSE_LOOPBACK = Scenario(
    "The docker-compose file", "The console, the mail web UI and the server are published on 127.0.0.1 only"
)
COMPOSE_BACKEND = Scenario("The docker-compose file", "The parsec-backend service gets the env files and the secrets")
SERVICES_UP = Scenario("Starting the services", "The services are up and answer")
DB_ACCESSIBLE = Scenario("Applying the database migration", "Check that the database is accessible")
DB_MIGRATIONS = Scenario(
    "Applying the database migration", "To bootstrap the database we just need to apply the migrations"
)
S3_CREATE = Scenario("Create the S3 Bucket", "Create a new bucket named parsec with object locking")
S3_WRONG_SECRET = Scenario("Create the S3 Bucket", "The S3 service refuses a wrong secret")
S3_RESTART = Scenario("Create the S3 Bucket", "Restart the parsec-backend")
S3_BLOCKS = Scenario("Create the S3 Bucket", "The server stores the data blocks in the bucket")
SMTP_PING = Scenario("Test the SMTP configuration & server", "The test mail of ping-mailhog.sh reaches the mailbox")
ORG_CREATE = Scenario("Create the first organization", "Create the first organization")
ORG_WRONG_TOKEN = Scenario("Create the first organization", "A wrong administration token is refused")
ORG_ONLY_ADMIN = Scenario("Create the first organization", "Only the administrator creates organizations")
USER_JOIN = Scenario("Add the first user to the organization", "Join the organization with the bootstrap link")
USER_INVITATION = Scenario("Add the first user to the organization", "The server sends the invitation mail")

# The 3.9 edition (Parsec 3.x, features/guide-3.9/).
V39_ENV_SERVER = Scenario("Set up the env files", "Parsec env file")
V39_S3_RESTART = Scenario("Create the S3 Bucket", "Restart the parsec-server")
V39_S3_BLOCKS = Scenario("Create the S3 Bucket", "The server stores the data blocks in the bucket")
V39_ORG_ONLY_ADMIN = Scenario("Create an Organization", "Only the administrator creates organizations")
ENV_VARIABLES = Scenario("The env files", "Every variable of the env files is one the Parsec server reads")
ENV_VARIABLES_39 = Scenario("Set up the env files", "Every variable of the env files is one the Parsec server reads")
ENV_COMPOSE_READS_39 = Scenario("Set up the env files", "The env files read the same by docker compose and by bash")
LINUX_BASH_READS_39 = Scenario("Deploy with Linux", "Set up: bash reads the env files as the guide wrote them")
LINUX_INSTALL = Scenario("Deploy with Linux", "Installation")
LINUX_START = Scenario("Deploy with Linux", "Start the server")
V39_MINIMUM = Scenario("System Requirements", "The server's machine and its database meet the minimum")
V39_COMPOSE_SERVER = Scenario("The Docker Compose file", "The parsec-server service gets the env files and the secrets")
V39_COMPOSE_PUBLISHED = Scenario("The Docker Compose file", "Only the proxy is published beyond 127.0.0.1")
V39_CIPHERS = Scenario("TLS Server configuration", "The server negotiates only the ciphers of PARSEC_SSL_CIPHERS")
