// An independent relying party for twofoldd's end-to-end tests: npm openid-client (OpenID
// certified), with ID token signature validation switched on (enableNonRepudiationChecks).
//
//   node rp.mjs ISSUER CLIENT_ID CLIENT_SECRET REDIRECT_URI
//
// Prints the authorization URL (PKCE S256, state, nonce) as one JSON line, reads the callback
// URL the provider redirected to from stdin, completes the code grant, validates the ID token
// (signature against the JWKS, iss, aud, exp, iat, nonce, state, iss in the response) and
// fetches userinfo; prints {"claims":..., "userinfo":...} or {"error":...} and exits 0 or 1.
import * as client from 'openid-client';
import readline from 'node:readline';

const [issuer, clientId, clientSecret, redirectUri] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

try {
  const config = await client.discovery(
    new URL(issuer),
    clientId,
    undefined,
    client.ClientSecretBasic(clientSecret),
    { execute: [client.allowInsecureRequests] },
  );
  client.enableNonRepudiationChecks(config);
  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid profile email',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  out({ authorization_url: url.href });
  const rl = readline.createInterface({ input: process.stdin });
  const callback = await new Promise((resolve) => rl.once('line', resolve));
  rl.close();
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  out({ claims, userinfo, token_type: tokens.token_type });
  process.exit(0);
} catch (e) {
  out({ error: `${e.name}: ${e.message}`, code: e.code, cause: String(e.cause ?? '') });
  process.exit(1);
}
