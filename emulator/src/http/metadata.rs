//! `GET /metadata/endpoints`: the cloud description SDKs read through `ARM_CLOUD_METADATA_URL`
//! (azureml-core, azure-ai-ml) or `az cloud register --endpoint-resource-manager`.
//!
//! ARM answers old api-versions (and none) with an array of clouds and `2022-09-01`+ with the
//! single current cloud, and each client relies on the shape it asks for: azureml-core and
//! azure-ai-ml send no api-version and index the array; az sends `2022-09-01` and reads an object.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::origin;

#[derive(Deserialize)]
pub struct Query {
    #[serde(rename = "api-version")]
    api_version: Option<String>,
}

/// First api-version that returns a single object instead of the array.
const SINGLE_CLOUD_SINCE: &str = "2022-09-01";

pub async fn endpoints(
    state: web::Data<crate::state::AppState>,
    req: HttpRequest,
    query: web::Query<Query>,
) -> HttpResponse {
    let base = origin(&state, &req);
    // ISO dates compare correctly as strings; anything that is not a date gets the array.
    let single = query
        .api_version
        .as_deref()
        .and_then(|v| v.get(..10))
        .filter(|d| time::Date::parse(d, &time::format_description::well_known::Iso8601::DATE).is_ok())
        .is_some_and(|d| d >= SINGLE_CLOUD_SINCE);
    let body = if single {
        // az builds the authority as `{loginEndpoint}/{tenant}`: `/adfs/{tenant}` skips instance discovery.
        cloud("Emulator", &base, &format!("{base}/adfs"))
    } else {
        // azureml-core builds it with urljoin(loginEndpoint, tenant), replacing the last segment:
        // `/adfs/aad` becomes `/adfs/{tenant}`. The non-AzureCloud entry comes first because
        // azure-ai-ml picks the first entry whose resourceManager matches the metadata URL, while
        // azureml-core looks its default cloud up by the name `AzureCloud`.
        let login = format!("{base}/adfs/aad");
        json!([cloud("Emulator", &base, &login), cloud("AzureCloud", &base, &login)])
    };
    HttpResponse::Ok().json(body)
}

fn cloud(name: &str, base: &str, login_endpoint: &str) -> Value {
    json!({
        "name": name,
        "portal": "https://portal.azure.com",
        "resourceManager": format!("{base}/"),
        "authentication": {
            "loginEndpoint": login_endpoint,
            "audiences": ["https://management.core.windows.net/", "https://management.azure.com/"],
            "tenant": "common",
            "identityProvider": "AAD"
        },
        "media": "https://rest.media.azure.net",
        "graphAudience": "https://graph.windows.net/",
        "graph": "https://graph.windows.net/",
        "gallery": "https://gallery.azure.com/",
        "batch": "https://batch.core.windows.net/",
        "sqlManagement": "https://management.core.windows.net:8443/",
        "activeDirectoryDataLake": "https://datalake.azure.net/",
        "microsoftGraphResourceId": "https://graph.microsoft.com/",
        "appInsightsResourceId": "https://api.applicationinsights.io",
        "appInsightsTelemetryChannelResourceId": "https://dc.applicationinsights.azure.com/v2/track",
        "attestationResourceId": "https://attest.azure.net",
        "synapseAnalyticsResourceId": "https://dev.azuresynapse.net",
        "logAnalyticsResourceId": "https://api.loganalytics.io",
        "ossrDbmsResourceId": "https://ossrdbms-aad.database.windows.net",
        "suffixes": suffixes(),
    })
}

/// DNS suffixes of Azure services, as the public cloud's metadata lists them.
fn suffixes() -> Value {
    json!({
            "storage": "core.windows.net",
            "keyVaultDns": "vault.azure.net",
            "acrLoginServer": "azurecr.io",
            "sqlServerHostname": "database.windows.net",
            "azureDataLakeStoreFileSystem": "azuredatalakestore.net",
            "azureDataLakeAnalyticsCatalogAndJob": "azuredatalakeanalytics.net",
            "mhsmDns": "managedhsm.azure.net",
            "mysqlServerEndpoint": "mysql.database.azure.com",
            "postgresqlServerEndpoint": "postgres.database.azure.com",
            "mariadbServerEndpoint": "mariadb.database.azure.com",
            "synapseAnalytics": "dev.azuresynapse.net",
            "attestationEndpoint": "attest.azure.net"
    })
}
