@start_using @create_organization
Feature: Create an Organization
  set -a; source parsec-admin-token.env; export SSL_CAFILE=$PWD/custom-ca.crt
  parsec-cli organization create --addr parsec3://127.0.0.1:6777
  Save the Bootstrap organization url to create the first user (owner) of the Organization, then
  bootstrap the Organization from Parsec (Menu / Join an organization). The Rust parsec-cli is not
  on PyPI: the administration API stands in for it, and the release's own bindings stand in for
  the GUI.

  Background:
    Given parsec-server is running

  Scenario: Create the organization
    When I create the organization "MyOrg" with the token of "parsec-admin-token.env" and SSL_CAFILE set to the custom CA
    Then the command prints the bootstrap organization url of "MyOrg"

  Scenario: A wrong administration token is refused
    When I create the organization "Intruder" with a wrong administration token
    Then the server refuses to create the organization

  Scenario: Only the administrator creates organizations
    When a client bootstraps "Unannounced", an organization the administrator never created
    Then the server refuses the bootstrap of "Unannounced"

  Scenario: Bootstrap the Organization (create its first User)
    Given the organization "MyOrg" is created
    When I join the organization with the bootstrap link
    Then the administration API says the organization is bootstrapped
    And the bootstrap link cannot be used twice

  Scenario: The server sends the invitation mail
    Given the organization "MyOrg" is created
    And the first user of the organization exists
    When the first user invites "invitee@example.com" by email
    Then an invitation arrives from PARSEC_EMAIL_SENDER to "invitee@example.com"
    And the invitation links to the server's public address
    And the SMTP server saw the Parsec server log in with the user and password of "parsec-smtp.env"
