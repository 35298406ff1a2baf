// Library entry point of the HSM component and of the verifier kit for upstream teams.
export type { FlattenedJws, JwsAlg, JwsHeader, Signer, TokenStatus, Verifier, VerifyFailureCode, VerifyResult } from './types.js';
export { createSigner, openToken, certificateFiles, hsmDir, type CreateSignerOptions } from './create-signer.js';
export { createVerifier, verifyMessage, JwsVerifier, type VerifierOptions } from './verifier.js';
export { memoryDedupeStore, levelDedupeStore, type DedupeStore, type LevelDedupeStore } from './dedupe.js';
export { kidOf, b64u, fromB64u, JWS_TYP, SUPPORTED_ALGS } from './jws.js';
export { TokenUnavailableError, WrongPinError, TokenConfigError } from './errors.js';
export { signerFromToken, type TokenSigner, type HsmLogger } from './signer.js';
export { openSoftwareToken, softwareTokenFromKey } from './software-token.js';
export {
  selfSignedCertificate,
  certificateRequest,
  pemBlocks,
  toPem,
  describeCertificate,
  certificateMatchesKey,
  type CertificateInfo,
} from './certs.js';
export { SOFTWARE_WARNING, type TokenKey } from './token.js';
export {
  createDevCa,
  loadDevCa,
  issueForPublicKey,
  issueWithNewKey,
  signCsr,
  revoke,
  crl,
  type DevCa,
  type IssueRequest,
  type CertificateKind,
} from './dev-ca.js';
export { verifierFromConfig, type TrustConfig } from './verifier-config.js';
export { openPkcs11Token, type Pkcs11TokenKey, type Pkcs11TokenOptions } from './pkcs11-token.js';
export { SOFTHSM_WARNING } from './softhsm-datadir.js';
