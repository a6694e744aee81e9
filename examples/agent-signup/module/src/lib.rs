//! The agent sign-up module: an AI agent provisions a project and bucket for a human who has
//! no account yet; the project stays restricted (`unclaimed`) until the human hands the agent
//! the 6-digit code from their email (`verified`) or claims it through the claim URL
//! (`human_owned`). Unclaimed projects are deleted after 14 days.
//!
//! Reducers (arguments by name):
//! - `sign_up(human_email, project_name, agent_id, client?)` — `signup.rs`
//! - `verify(agent_key, code)` — `code.rs`
//! - `status(agent_key)`, `claim(claim_token)` — `account.rs`
//! - `create_object(agent_key, title)`, `upload_media(agent_key, bytes_len)`,
//!   `ai_generate(agent_key, prompt)` — `data_plane.rs`
//! - scheduled: `expire_code`, `delete_unclaimed_project` (the module's own calls only)
//!
//! HTTP routes (`http_api.rs`), the product document's API: `POST /v3/agents/sign-up`,
//! `POST /v3/agents/verify`, `GET /v3/agents/status` (`Authorization: Bearer agk_…`), and the
//! bucket data plane `POST /v3/buckets/:slug/{objects,media,ai/generate}` (an agent key or an
//! access token). Access tokens are HS256 JWTs the module signs (`tokens.rs`).
//!
//! Secrets (`agk_` agent keys, `clm_` claim tokens, bucket keys) are stored as SHA-256
//! digests (the bucket keys also sealed under the agent key, for `/status`); codes as salted
//! SHA-256 with an expiry and 5 attempts. Error codes and limits
//! are in `state.rs`; the README walks through them with curl.

mod account;
mod code;
mod data_plane;
mod http_api;
mod secrets;
mod signup;
mod state;
mod tables;
mod tokens;
mod validate;
