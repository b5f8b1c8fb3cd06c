#pragma once
/*
 * DH-HMAC-CHAP in-band authentication of a qpair, the controller's side
 * (auth.c): the Fabrics AUTH_Send / AUTH_Receive commands on every transport,
 * and the gate that refuses other commands until the qpair is authenticated.
 * All of it runs on the qpair's thread.
 */
#include <stdbool.h>

struct unvmf_ctrlr;
struct unvmf_qpair;
struct unvmf_req;

/*
 * A successful Connect of qpair to ctrlr: when the host has a DH-HMAC-CHAP
 * secret in the subsystem, prepares the transaction and returns 1 (the
 * Connect response then sets AUTHREQ.ATR); 0 when none is needed;
 * -ENOMEM.
 */
int unvmf_auth_qpair_connected(struct unvmf_qpair *qpair, struct unvmf_ctrlr *ctrlr);
/* Whether commands other than AUTH_Send/Receive and Disconnect may run on qpair. */
bool unvmf_auth_qpair_allows(const struct unvmf_qpair *qpair);
/* Fabrics AUTH_Send / AUTH_Receive. */
void unvmf_auth_send(struct unvmf_req *req);
void unvmf_auth_recv(struct unvmf_req *req);
/* The qpair leaves its controller: secrets wiped, timer stopped. */
void unvmf_auth_qpair_free(struct unvmf_qpair *qpair);
