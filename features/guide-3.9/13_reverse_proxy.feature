@reverse_proxy
Feature: Running behind a reverse proxy
  To run Parsec behind a reverse proxy you will need to set PARSEC_PROXY_TRUSTED_ADDRESS to the
  address of the reverse proxy. Use parsec-nginx.conf to serve the domain example.com on ports 80
  and 443 and proxy the requests to the Parsec Server: set the X-Forwarded-For, X-Forwarded-Proto,
  X-Forwarded-Host and X-Forwarded-Port headers, remove the Forwarded header, and set the host
  header to the accessible address.

  Background:
    Given parsec-server is running
    And parsec-proxy is running

  Scenario: The proxy serves its certificate for the name clients use
    Then parsec-proxy presents the certificate of parsec-proxy, issued by the custom CA
    And the certificate of parsec-proxy names the host of the server's public address

  Scenario: A request through the proxy reaches the server
    When I create the organization "ThroughTheProxy" through parsec-proxy with the token of "parsec-admin-token.env"
    Then the bootstrap organization url names the server's public address

  Scenario: The server takes the client's address and scheme from the proxy only
    Then the server sees the client's scheme in X-Forwarded-Proto when the request comes through parsec-proxy
    And the server sees the client's address in X-Forwarded-For when the request comes through parsec-proxy
    And the server ignores X-Forwarded-Proto and X-Forwarded-For from an address it does not trust

  Scenario: The proxy removes the Forwarded header
    Then every location of parsec-nginx.conf that proxies to parsec-server removes the Forwarded header
