// Starts GraphiQL on the page `GET /graphql` serves: queries and mutations over HTTP to the
// endpoint the page names (`data-endpoint`), subscriptions over graphql-transport-ws beside it.
// A file of its own, not an inline script: the page's script policy allows scripts of the
// BFF's origin only.
(function () {
  const holder = document.getElementById('graphiql');
  const url = new URL(holder.dataset.endpoint || '/graphql', window.location.href);
  const ws = new URL(url.pathname.replace(/\/$/, '') + '/ws', url);
  ws.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const wsClient = graphqlWs.createClient({ url: ws.href, lazy: true });
  const fetcher = GraphiQL.createFetcher({ url: url.href, wsClient });
  const root = ReactDOM.createRoot(holder);
  root.render(React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: 'query Composite {\n  orders { quantity customerId state product { price name } delivery { deliveryAddress } }\n}\n',
  }));
})();
