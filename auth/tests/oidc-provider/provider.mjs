// An independent OpenID provider for the mall-auth tests: npm `oidc-provider` (certified),
// in memory, with its development sign-in pages (any login name signs in; no password).
// PORT: where to listen; REDIRECT_URI: the mall's callback. Prints "ready" when listening.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: 'mall',
    client_secret: 'mall-test-secret',
    redirect_uris: [process.env.REDIRECT_URI],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
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

provider.listen(port, '127.0.0.1', () => console.log('ready'));
