//! The OpenAPI 3.1 document of `/api/3` (`utoipa`'s model), made by the very calls that mount
//! the routes: a resource writes its routes as `route("/tags", post(create, "...").get(list,
//! "..."))` with this module's [`get`], [`post`], [`put`] and [`delete`], which are axum's
//! method routers plus each operation's summary. So no route is served undocumented, and none is
//! documented that is not served. Served at `GET /api/3/openapi.json`.
//!
//! Every operation takes the `Api-Token` header; a path's `{id}` or `{name}` is a string
//! parameter; `POST` and `PUT` take a JSON object; a success is a JSON object (or plain text, or
//! nothing, as the route says), and a refusal (`4XX`) is a JSON object in ActiveCampaign's
//! shapes.

use axum::handler::Handler;
use axum::routing::MethodRouter;
use axum::Router;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, Required,
    ResponseBuilder, ResponsesBuilder,
};

use crate::state::AppState;

/// The name of the security scheme of the `Api-Token` header.
const API_TOKEN: &str = "apiToken";

/// What a successful answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// A JSON object.
    Json,
    /// Plain text (a snippet to paste).
    Text,
    /// Nothing (`204`).
    Empty,
}

/// One documented operation of a path.
struct Operation {
    method: HttpMethod,
    summary: &'static str,
    answer: Answer,
}

/// The operations of one path: axum's method router, and what each method does.
pub struct Endpoints {
    router: MethodRouter<AppState>,
    operations: Vec<Operation>,
}

macro_rules! method {
    ($($name:ident => $method:ident),* $(,)?) => {
        $(
            #[doc = concat!("`", stringify!($method), "` answered by `handler`: axum's [`axum::routing::", stringify!($name), "`], documented by `summary`.")]
            pub fn $name<H, T>(handler: H, summary: &'static str) -> Endpoints
            where
                H: Handler<T, AppState>,
                T: 'static,
            {
                Endpoints { router: MethodRouter::new(), operations: Vec::new() }.$name(handler, summary)
            }
        )*

        impl Endpoints {
            $(
                #[doc = concat!("Adds `", stringify!($method), "` answered by `handler`, documented by `summary`.")]
                pub fn $name<H, T>(mut self, handler: H, summary: &'static str) -> Self
                where
                    H: Handler<T, AppState>,
                    T: 'static,
                {
                    self.router = self.router.$name(handler);
                    self.operations.push(Operation {
                        method: HttpMethod::$method,
                        summary,
                        answer: Answer::Json,
                    });
                    self
                }
            )*
        }
    };
}

method!(get => Get, post => Post, put => Put, delete => Delete);

impl Endpoints {
    /// The operation added last answers plain text.
    pub fn text(self) -> Self {
        self.last_answers(Answer::Text)
    }

    /// The operation added last answers `204` with no body.
    pub fn empty(self) -> Self {
        self.last_answers(Answer::Empty)
    }

    fn last_answers(mut self, answer: Answer) -> Self {
        if let Some(last) = self.operations.last_mut() {
            last.answer = answer;
        }
        self
    }
}

/// A resource's routes and their documentation, built together.
pub struct ApiRouter {
    router: Router<AppState>,
    paths: Paths,
    tag: &'static str,
}

impl ApiRouter {
    /// No routes yet; their operations are tagged `tag` (the resource) in the document.
    pub fn new(tag: &'static str) -> Self {
        Self {
            router: Router::new(),
            paths: Paths::new(),
            tag,
        }
    }

    /// Serves `endpoints` at `path` (relative to `/api/3`) and documents them.
    pub fn route(mut self, path: &str, endpoints: Endpoints) -> Self {
        for operation in &endpoints.operations {
            self.paths.add_path_operation(
                format!("/api/3{path}"),
                vec![operation.method.clone()],
                documented(path, operation, self.tag),
            );
        }
        self.router = self.router.route(path, endpoints.router);
        self
    }

    /// These routes and `other`'s.
    pub fn merge(mut self, other: ApiRouter) -> Self {
        self.router = self.router.merge(other.router);
        self.paths.merge(other.paths);
        self
    }

    /// The router, and the document of its routes.
    pub fn into_parts(self) -> (Router<AppState>, OpenApi) {
        (self.router, document(self.paths))
    }
}

/// A JSON object of any shape.
fn any_object() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Object)
}

/// The operation's documentation: its path parameters, its body, its answers.
fn documented(path: &str, operation: &Operation, tag: &str) -> utoipa::openapi::path::Operation {
    let mut built = OperationBuilder::new()
        .tag(tag)
        .summary(Some(operation.summary))
        .security(SecurityRequirement::new(API_TOKEN, Vec::<String>::new()));
    for name in path
        .split('/')
        .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
    {
        built = built.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(ObjectBuilder::new().schema_type(Type::String))),
        );
    }
    if matches!(operation.method, HttpMethod::Post | HttpMethod::Put) {
        built = built.request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(any_object())).build(),
                )
                .build(),
        ));
    }
    let success = match operation.answer {
        Answer::Json => ResponseBuilder::new().description("Done").content(
            "application/json",
            ContentBuilder::new().schema(Some(any_object())).build(),
        ),
        Answer::Text => ResponseBuilder::new().description("Done").content(
            "text/plain",
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        ),
        Answer::Empty => ResponseBuilder::new().description("Done, nothing to answer"),
    };
    let refusal = ResponseBuilder::new()
        .description("Refused, in ActiveCampaign's shapes: {\"message\"} or {\"errors\": [...]}")
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(any_object())).build(),
        );
    built
        .responses(
            ResponsesBuilder::new()
                .response("2XX", success)
                .response("4XX", refusal)
                .build(),
        )
        .build()
}

/// The whole document over `paths`.
fn document(paths: Paths) -> OpenApi {
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Tracklane API v3")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "ActiveCampaign's API v3 as Tracklane serves it, with Tracklane's own \
                     resources beside.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(
            ComponentsBuilder::new()
                .security_scheme(
                    API_TOKEN,
                    SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("Api-Token"))),
                )
                .build(),
        ))
        .build()
}
