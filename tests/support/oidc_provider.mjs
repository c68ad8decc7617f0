// A real OpenID Connect provider (npm `oidc-provider`) for the social-login tests.
//
//   node oidc_provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI[,REDIRECT_URI...]
//
// Serves http://127.0.0.1:PORT with one confidential client that must use PKCE (S256). Any login
// name is an account: subject "sub-NAME", email "NAME@example.org", verified unless the name
// starts with "unverified". The login page is one plain HTML form; consent is granted at once
// (a first-party client), so a test posts a single form. Prints "ready ISSUER" when listening.
import crypto from "node:crypto";
import http from "node:http";
import Provider from "oidc-provider";

const [port, clientId, clientSecret, redirectUris] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const signingKey = {
  ...crypto.generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }),
  kid: crypto.randomBytes(8).toString("hex"),
  alg: "RS256",
  use: "sig",
};

function account(id) {
  return {
    accountId: `sub-${id}`,
    async claims() {
      return {
        sub: `sub-${id}`,
        email: `${id}@example.org`,
        email_verified: !id.startsWith("unverified"),
        preferred_username: id,
        name: `Test ${id}`,
      };
    },
  };
}

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: redirectUris.split(","),
      response_types: ["code"],
      grant_types: ["authorization_code"],
    },
  ],
  pkce: { required: () => true },
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(16).toString("hex")] },
  claims: { openid: ["sub"], email: ["email", "email_verified"], profile: ["name", "preferred_username"] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  findAccount: async (_ctx, sub) => account(sub.replace(/^sub-/, "")),
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    if (!ctx.oidc.session.accountId) return undefined;
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
  async renderError(ctx, out) {
    ctx.type = "json";
    ctx.body = out;
  },
});

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => resolve(new URLSearchParams(body)));
    req.on("error", reject);
  });
}

const handle = provider.callback();
http
  .createServer(async (req, res) => {
    const match = new URL(req.url, issuer).pathname.match(/^\/interaction\/([^/]+)(\/login)?$/);
    if (!match) return handle(req, res);
    try {
      const details = await provider.interactionDetails(req, res);
      if (req.method === "GET") {
        res.setHeader("content-type", "text/html; charset=utf-8");
        return res.end(
          `<!doctype html><title>Sign in</title><form method="post" action="/interaction/${details.uid}/login">` +
            `<input name="login" autofocus><button>Sign in</button></form>`,
        );
      }
      const login = (await readBody(req)).get("login");
      if (!/^[a-z0-9-]{1,40}$/.test(login || "")) {
        res.statusCode = 400;
        return res.end("bad login");
      }
      return await provider.interactionFinished(req, res, { login: { accountId: `sub-${login}` } }, {
        mergeWithLastSubmission: false,
      });
    } catch (err) {
      res.statusCode = 500;
      return res.end(String(err));
    }
  })
  .listen(Number(port), "127.0.0.1", () => console.log(`ready ${issuer}`));
