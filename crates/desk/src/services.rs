//! Who may use which service: a service's audience (every client, named clients, or clients
//! whose active contract has a feature such as license keys) decides what a client sees in
//! the catalog and what a ticket may be opened for.

use crate::{Desk, Result, viewer};
use okno_domain::*;
use okno_store::Contract;
use okno_workflow::{Audience, Service};

/// The features a contract gives, by the names services ask for (`requires_contract_feature`).
pub fn contract_features(contract: &Contract) -> Vec<&'static str> {
    let mut features = Vec::new();
    if contract
        .terms
        .limits
        .license_keys
        .is_some_and(|keys| keys > 0)
    {
        features.push("license-keys");
    }
    features
}

impl Desk {
    /// The active services `user` may open a ticket for, in catalog order: all of them for
    /// staff (they open tickets on a client's behalf and are checked then), the ones whose
    /// audience admits the contact's organization for a client.
    pub async fn services_for(&self, user: &User) -> Result<Vec<Service>> {
        let catalog = self.catalog();
        let active = catalog.services().iter().filter(|s| s.active);
        let Some(client) = user.client_id.filter(|_| !viewer(user).is_staff()) else {
            return Ok(active.cloned().collect());
        };
        let mut allowed = Vec::new();
        for service in active {
            if self.audience_admits(client, service).await? {
                allowed.push(service.clone());
            }
        }
        Ok(allowed)
    }

    /// Refuses a ticket for a service its audience does not admit `client` to; `in_force`
    /// is the client's contracts covering the service when the caller has read them.
    pub(crate) async fn check_audience(
        &self,
        client: ClientId,
        service: &Service,
        in_force: Option<&[Contract]>,
    ) -> Result<()> {
        let admitted = match in_force {
            Some(in_force) => {
                self.audience_admits_under(client, service, in_force)
                    .await?
            }
            None => self.audience_admits(client, service).await?,
        };
        if admitted {
            return Ok(());
        }
        Err(FieldError::new(
            "service",
            format!(
                "the service {:?} is not available to this client under its contract",
                service.code
            ),
        )
        .into())
    }

    async fn audience_admits(&self, client: ClientId, service: &Service) -> Result<bool> {
        let in_force = match service.audience {
            Audience::ContractFeature(_) => {
                self.contracts_in_force(client, &service.code, self.now())
                    .await?
            }
            _ => Vec::new(),
        };
        self.audience_admits_under(client, service, &in_force).await
    }

    async fn audience_admits_under(
        &self,
        client: ClientId,
        service: &Service,
        in_force: &[Contract],
    ) -> Result<bool> {
        Ok(match &service.audience {
            Audience::All => true,
            Audience::Clients(_) => {
                let code = self
                    .store
                    .client(client)
                    .await?
                    .map(|c| c.code)
                    .unwrap_or_default();
                service.audience.allows(&code, &[])
            }
            Audience::ContractFeature(_) => {
                let features: Vec<&str> = in_force.iter().flat_map(contract_features).collect();
                service.audience.allows("", &features)
            }
        })
    }
}
