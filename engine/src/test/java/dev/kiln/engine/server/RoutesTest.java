package dev.kiln.engine.server;

import static dev.kiln.engine.server.Routes.Method.GET;
import static dev.kiln.engine.server.Routes.Method.POST;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.engine.store.Role;
import dev.kiln.engine.trigger.InvalidRequest;
import org.junit.jupiter.api.Test;

class RoutesTest {
  private static final Routes.Handler NOTHING = e -> null;

  @Test
  void anApiRouteWithoutARoleCannotBeWrittenOutsideTheStaticReference() {
    assertThatThrownBy(() -> Routes.open(GET, "/api/runs/{id}", "why not", NOTHING))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("every /api/ route needs a role");
    assertThatThrownBy(() -> Routes.route(GET, "/api/runs/{id}", null, NOTHING))
        .isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> new Routes.Route(GET, "/health", Role.VIEWER, "open too", NOTHING))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theServersTableGivesEveryApiRouteARoleAndWritesNeedAnOperator() {
    HttpApi api = new HttpApi(null, null, null, null, null, (a, r) -> {});
    var table = KilnServer.routeTable(api, null, null, h -> "x", () -> "", false);
    assertThat(table)
        .filteredOn(r -> r.path().startsWith("/api/") && !r.path().startsWith(Routes.DOCS))
        .isNotEmpty()
        .allSatisfy(r -> assertThat(r.role()).isNotNull());
    assertThat(table)
        .filteredOn(r -> r.path().startsWith("/api/") && r.method() == POST)
        .allSatisfy(r -> assertThat(r.role().allows(Role.OPERATOR)).isTrue());
    assertThat(table)
        .filteredOn(r -> r.role() == null)
        .extracting(Routes.Route::path)
        .containsExactlyInAnyOrder("/hooks/{path}", "/health", "/api/docs", "/api/docs/{file}");
    assertThat(KilnServer.routeTable(api, null, null, h -> "x", () -> "", true))
        .filteredOn(r -> r.role() == null)
        .extracting(Routes.Route::path)
        .contains("/metrics");
    assertThat(table)
        .filteredOn(r -> r.path().startsWith("/api/models/") && r.method() == POST)
        .hasSize(2)
        .allSatisfy(r -> assertThat(r.role()).isEqualTo(Role.ADMIN));
  }

  @Test
  void credentialsInTheQueryStringAreRefusedOtherParamsPass() throws Exception {
    for (String query :
        new String[] {
          "token=abc",
          "a=1&access_token=abc",
          "Authorization=Bearer%20x",
          "x=kiln_abc",
          "API_KEY=1",
          "q=Bearer%20abc"
        }) {
      assertThatThrownBy(() -> Routes.refuseCredentialsInQuery(query))
          .as(query)
          .isInstanceOf(InvalidRequest.class)
          .extracting(e -> ((InvalidRequest) e).status())
          .isEqualTo(400);
    }
    Routes.refuseCredentialsInQuery("pipeline=train&status=failed&limit=10&customer_id=7");
    Routes.refuseCredentialsInQuery(null);
  }

  @Test
  void onlyJsonIsAWriteBodyWithOrWithoutCharset() throws Exception {
    Routes.requireJson("application/json");
    Routes.requireJson("Application/JSON; charset=utf-8");
    for (String type :
        new String[] {
          "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""
        }) {
      assertThatThrownBy(() -> Routes.requireJson(type))
          .as(type)
          .isInstanceOf(InvalidRequest.class)
          .extracting(e -> ((InvalidRequest) e).status())
          .isEqualTo(415);
    }
    assertThatThrownBy(() -> Routes.requireJson(null)).hasMessageContaining("got none");
  }
}
