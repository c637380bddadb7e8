@first_user
Feature: Add the first user to the organization
  Start parsec with the custom CA, go to Menu / Join an organization and paste the link from
  before. Follow the instructions to create the first user of the organization. Here the
  release's own client does it headlessly, standing in for the GUI.

  Background:
    Given parsec-backend is running
    And the organization "MyOrg" is created

  Scenario: Join the organization with the bootstrap link
    When I join the organization with the bootstrap link
    Then the administration API says the organization is bootstrapped
    And the bootstrap link cannot be used twice

  Scenario: The server sends the invitation mail
    Given the first user of the organization exists
    When the first user invites "invitee@example.com" by email
    Then an invitation arrives from PARSEC_EMAIL_SENDER to "invitee@example.com"
    And the invitation links to the server's public address
    And the SMTP server saw the Parsec server log in with the user and password of "parsec-smtp.env"
