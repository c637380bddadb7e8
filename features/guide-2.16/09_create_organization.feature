@create_organization
Feature: Create the first organization
  set -a; source parsec-admin-token.env; export SSL_CAFILE=$PWD/custom-ca.crt
  parsec.cli core create_organization --addr parsec://127.0.0.1:6777 <orgname>

  Background:
    Given parsec-backend is running

  Scenario: Create the first organization
    When I create the organization "MyOrg" with the token of "parsec-admin-token.env" and SSL_CAFILE set to the custom CA
    Then the command prints the bootstrap organization url of "MyOrg"

  Scenario: A wrong administration token is refused
    When I create the organization "Intruder" with a wrong administration token
    Then the server refuses to create the organization

  Scenario: Only the administrator creates organizations
    When a client bootstraps "Unannounced", an organization the administrator never created
    Then the server refuses the bootstrap of "Unannounced"
