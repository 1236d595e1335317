//! Web services, online endpoints and region outages: the part of the world scoring reads, and
//! its writes (each copies this part only).

use std::collections::HashMap;
use std::sync::Arc;

use super::World;
use crate::domain::services::{OnlineEndpoint, Service};

/// Web services, online endpoints and region outages, indexed by (case-insensitive) name.
#[derive(Clone, Debug, Default)]
pub struct Deployments {
    pub services: Vec<Service>,
    pub online_endpoints: Vec<OnlineEndpoint>,
    /// Regions whose AzureML services are down.
    pub unavailable_regions: Vec<String>,
    pub(super) service_by_name: HashMap<String, usize>,
    pub(super) endpoint_by_name: HashMap<String, usize>,
}

impl Deployments {
    pub fn new(
        services: Vec<Service>,
        online_endpoints: Vec<OnlineEndpoint>,
        unavailable_regions: Vec<String>,
    ) -> Self {
        let mut d = Deployments {
            services,
            online_endpoints,
            unavailable_regions,
            ..Default::default()
        };
        d.reindex();
        d
    }

    pub(super) fn reindex(&mut self) {
        self.service_by_name = self
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.to_ascii_lowercase(), i))
            .collect();
        self.endpoint_by_name = self
            .online_endpoints
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.to_ascii_lowercase(), i))
            .collect();
    }
}

impl World {
    /// Adds or replaces (by name) a web service.
    pub fn put_service(&mut self, service: Service) {
        let d = Arc::make_mut(&mut self.deployments);
        match d.service_by_name.get(&service.name.to_ascii_lowercase()) {
            Some(&i) => d.services[i] = service,
            None => {
                d.service_by_name
                    .insert(service.name.to_ascii_lowercase(), d.services.len());
                d.services.push(service);
            }
        }
    }

    pub fn remove_service(&mut self, name: &str) {
        let d = Arc::make_mut(&mut self.deployments);
        d.services.retain(|s| !s.name.eq_ignore_ascii_case(name));
        d.reindex();
    }

    /// Adds or replaces (by name) an online endpoint.
    pub fn put_endpoint(&mut self, endpoint: OnlineEndpoint) {
        let d = Arc::make_mut(&mut self.deployments);
        match d.endpoint_by_name.get(&endpoint.name.to_ascii_lowercase()) {
            Some(&i) => d.online_endpoints[i] = endpoint,
            None => {
                d.endpoint_by_name
                    .insert(endpoint.name.to_ascii_lowercase(), d.online_endpoints.len());
                d.online_endpoints.push(endpoint);
            }
        }
        self.reindex_identities();
    }

    pub fn remove_endpoint(&mut self, name: &str) {
        let d = Arc::make_mut(&mut self.deployments);
        d.online_endpoints.retain(|e| !e.name.eq_ignore_ascii_case(name));
        d.reindex();
        self.reindex_identities();
    }

    /// Marks a region down (`down`) or back up.
    pub fn set_region_outage(&mut self, region: &str, down: bool) {
        let present = !self.region_available(region);
        if present == down {
            return;
        }
        let d = Arc::make_mut(&mut self.deployments);
        if down {
            d.unavailable_regions.push(region.to_string());
            d.unavailable_regions.sort();
        } else {
            d.unavailable_regions.retain(|r| !r.eq_ignore_ascii_case(region));
        }
    }
}
