@smtp
Feature: Test the SMTP configuration & server
  You can test mailhog with ping-mailhog.sh, then check if the email is present in the web
  interface at http://127.0.0.1:8025

  Scenario: The test mail of ping-mailhog.sh reaches the mailbox
    Given the services are started
    When I send the test mail of "ping-mailhog.sh" with the values of "parsec-smtp.env"
    Then the mail web interface shows a message from PARSEC_EMAIL_SENDER to "rcpt@test.com"
    And the SMTP server saw ping-mailhog.sh log in as PARSEC_EMAIL_HOST_USER@localhost of "parsec-smtp.env"
