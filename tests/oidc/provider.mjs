// A real OpenID Connect provider for the identity tests: the OpenID-certified `oidc-provider`
// package with its development sign-in pages (any password is accepted; the login is the
// account id). Run as `node provider.mjs CONFIG.json`; CONFIG gives
//   {"port": N, "issuer": "http://127.0.0.1:N", "clients": [client metadata...],
//    "accounts": {"sub": {claim: value}}, "id_token_ttl_s": 3600}
// It prints one line `ready` once it listens, and stops on SIGTERM.
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const accounts = config.accounts;

const provider = new Provider(config.issuer, {
  clients: config.clients,
  // Every claim of the `profile`, `email` and `triage` scopes goes into the ID token itself
  // (as Entra ID and most workforce providers do), not only to the userinfo endpoint.
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username'],
    email: ['email'],
    triage: ['triage_roles', 'triage_boards', 'triage_team'],
  },
  scopes: ['openid', 'profile', 'email', 'triage'],
  async findAccount(_ctx, id) {
    if (!Object.hasOwn(accounts, id)) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...accounts[id] }) };
  },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: {
      enabled: true,
      // Plain pages with nothing fetched from elsewhere (the defaults load a web font).
      logoutSource: async (ctx, form) => {
        ctx.body = `<!doctype html><title>Sign out</title>${form}
          <button type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>`;
      },
      postLogoutSuccessSource: async (ctx) => {
        ctx.body = '<!doctype html><title>Signed out</title><p>Signed out of the provider.</p>';
      },
    },
  },
  pkce: { required: () => true },
  ttl: { IdToken: config.id_token_ttl_s ?? 3600, AccessToken: 600, AuthorizationCode: 60 },
  cookies: { keys: ['test-provider-cookie-key-not-secret'] },
  // Straight to the client once signed in: the consent step is not what is tested here.
  loadExistingGrant: async (ctx) => {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email triage');
    await grant.save();
    return grant;
  },
});

const server = provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write('ready\n');
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
