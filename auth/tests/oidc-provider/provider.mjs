// An independent OpenID provider for the mall-auth tests and the e2e suite: npm
// `oidc-provider` (certified), in memory, with its development sign-in pages (any login name
// signs in; the password is not checked). Logins starting with "staff" are in the group
// `shop-staff`.
//
// PORT: where to listen (0: any free port); REDIRECT_URI: the mall's callback. With
// REDIRECT_ANY_PORT=1 the client is registered as a native one, whose loopback redirect URI
// matches at any port (RFC 8252 section 7.3): the e2e runner starts the provider before the
// mall, whose port is not known yet. Prints "issuer <URL>", then "ready" when listening.
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const server = createServer();

server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: 'mall',
      client_secret: 'mall-test-secret',
      redirect_uris: [process.env.REDIRECT_URI],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...(process.env.REDIRECT_ANY_PORT === '1' ? { application_type: 'native' } : {}),
    }],
    pkce: { required: () => true },
    // The scope claims go into the ID token, where the mall reads them.
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub', 'groups'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          return {
            sub: id,
            email: `${id}@idp.example`,
            email_verified: true,
            name: `Person ${id}`,
            groups: id.startsWith('staff') ? ['shop-staff'] : ['customers'],
          };
        },
      };
    },
  });
  server.on('request', provider.callback());
  console.log(`issuer ${issuer}`);
  console.log('ready');
});
