import { expect, test } from './fixtures/test';
import { buildClientSchema, getIntrospectionQuery, printSchema } from 'graphql';
import { serverAudits } from 'graphql-http';

// The GraphQL Foundation's conformance audits for GraphQL over HTTP (npm `graphql-http`),
// run against the real BFF. Every audit is printed with its result; every MUST and SHOULD
// has to be ok. The BFF also passes every MAY audit; ARCHITECTURE.md says why each is taken.
test('the BFF passes the GraphQL over HTTP audits', async ({ baseURL }) => {
  const url = new URL('/graphql', baseURL).toString();
  const results: { id: string; name: string; status: string; reason?: string }[] = [];
  for (const audit of serverAudits({ url })) {
    const result = await audit.fn();
    results.push({
      id: audit.id,
      name: audit.name,
      status: result.status,
      reason: 'reason' in result ? result.reason : undefined,
    });
  }
  for (const r of results) {
    console.log(`${r.status.padEnd(6)} ${r.id} ${r.name}${r.reason ? ` (${r.reason})` : ''}`);
  }
  const counts = results.reduce<Record<string, number>>((c, r) => {
    c[r.status] = (c[r.status] ?? 0) + 1;
    return c;
  }, {});
  console.log(`graphql-http audits: ${JSON.stringify(counts)} of ${results.length}`);
  const notOk = results.filter((r) => r.status !== 'ok');
  expect(notOk, 'every audit is ok').toEqual([]);
});

// graphql-js's own introspection query, as GraphiQL-from-URL, codegen, Rover, Postman,
// Altair and Schemathesis send it, loads the schema under the default limits.
test('standard GraphQL tools can load the schema by introspection', async ({ request }) => {
  const response = await request.post('/graphql', {
    headers: { accept: 'application/graphql-response+json' },
    data: {
      query: getIntrospectionQuery({
        descriptions: true,
        specifiedByUrl: true,
        directiveIsRepeatable: true,
        schemaDescription: true,
        inputValueDeprecation: true,
      }),
    },
  });
  expect(response.status()).toBe(200);
  const body = await response.json();
  expect(body.errors).toBeUndefined();
  const sdl = printSchema(buildClientSchema(body.data));
  expect(sdl).toContain('type Query');
  expect(sdl).toContain('orders');
  expect(sdl).toContain('type Subscription');
});
