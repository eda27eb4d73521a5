// The seed's example, ported from Locust: log in, browse four products (grouped under one name),
// add each to the cart, check out.
//
//   firstspan run examples/ecommerce_shopper.ts --host http://localhost:8080 -u 500 -r 0.5 -t 1h --otel
import { HttpUser, between, task } from 'firstspan';

export class MockTarget extends HttpUser {
  override waitTime = between(1, 2);

  @task
  async shop(): Promise<void> {
    await this.client.post('/authenticate', { json: { user: 'foo', password: 'bar' } });
    for (const productId of [1, 2, 42, 4711]) {
      await this.client.get(`/product/${productId}`, { name: '/product/{product_id}' });
      await this.client.post('/cart/add', { json: { productId } });
    }
    await this.client.post('/checkout/confirm');
  }
}
