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
  void anApiRouteWithoutARoleCannotBeWritten() {
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
    assertThat(api.routes())
        .filteredOn(r -> r.path().startsWith("/api/"))
        .isNotEmpty()
        .allSatisfy(r -> assertThat(r.role()).isNotNull());
    assertThat(api.routes())
        .filteredOn(r -> r.path().startsWith("/api/") && r.method() == POST)
        .allSatisfy(r -> assertThat(r.role().allows(Role.OPERATOR)).isTrue());
    assertThat(api.routes())
        .filteredOn(r -> r.role() == null)
        .extracting(Routes.Route::path)
        .containsExactlyInAnyOrder("/hooks/{path}", "/health");
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
