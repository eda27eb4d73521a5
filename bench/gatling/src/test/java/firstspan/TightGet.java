package firstspan;

import static io.gatling.javaapi.core.CoreDsl.atOnceUsers;
import static io.gatling.javaapi.core.CoreDsl.forever;
import static io.gatling.javaapi.core.CoreDsl.scenario;
import static io.gatling.javaapi.http.HttpDsl.http;
import static io.gatling.javaapi.http.HttpDsl.status;

import io.gatling.javaapi.core.Simulation;
import io.gatling.javaapi.http.HttpProtocolBuilder;
import java.time.Duration;

/**
 * The loop every tool in `npm run bench:peers` runs: USERS closed-model users, each sending one
 * `GET /` after the other on its own keep-alive connection with no think time, for SECONDS.
 * Target, users and duration come from system properties the bench sets.
 */
public class TightGet extends Simulation {
  private final String target = System.getProperty("target", "http://127.0.0.1:8080");
  private final int users = Integer.getInteger("users", 10);
  private final int seconds = Integer.getInteger("seconds", 10);

  // One connection per user (Gatling's default for a virtual user), like firstspan's users.
  private final HttpProtocolBuilder protocol = http.baseUrl(target);

  {
    setUp(scenario("tight get").exec(forever().on(http("GET /").get("/").check(status().is(200))))
        .injectOpen(atOnceUsers(users)))
        .protocols(protocol)
        .maxDuration(Duration.ofSeconds(seconds));
  }
}
