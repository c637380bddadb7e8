@deployment_options
Feature: Deployment options
  Parsec offers the following deployment options: Container-Based deployment, and Direct
  installation on Linux server.
  Out of scope: this section only lists the two ways; each is executed in its own section (Deploy with Docker, Deploy with Linux).
