/* Names for NVMe status codes and NVMe/TCP termination errors (for logs and tools). */
#include "unvmf/host.h"
#include "util/common.h"

struct status_name {
	uint8_t sc;
	const char *name;
};

static const struct status_name g_generic[] = {
	{0x00, "Successful Completion"},
	{0x01, "Invalid Command Opcode"},
	{0x02, "Invalid Field in Command"},
	{0x03, "Command ID Conflict"},
	{0x04, "Data Transfer Error"},
	{0x05, "Commands Aborted due to Power Loss Notification"},
	{0x06, "Internal Error"},
	{0x07, "Command Abort Requested"},
	{0x08, "Command Aborted due to SQ Deletion"},
	{0x09, "Command Aborted due to Failed Fused Command"},
	{0x0a, "Command Aborted due to Missing Fused Command"},
	{0x0b, "Invalid Namespace or Format"},
	{0x0c, "Command Sequence Error"},
	{0x0d, "Invalid SGL Segment Descriptor"},
	{0x0e, "Invalid Number of SGL Descriptors"},
	{0x0f, "Data SGL Length Invalid"},
	{0x10, "Metadata SGL Length Invalid"},
	{0x11, "SGL Descriptor Type Invalid"},
	{0x12, "Invalid Use of Controller Memory Buffer"},
	{0x13, "PRP Offset Invalid"},
	{0x14, "Atomic Write Unit Exceeded"},
	{0x15, "Operation Denied"},
	{0x16, "SGL Offset Invalid"},
	{0x18, "Host Identifier Inconsistent Format"},
	{0x19, "Keep Alive Timer Expired"},
	{0x1a, "Keep Alive Timeout Invalid"},
	{0x1b, "Command Aborted due to Preempt and Abort"},
	{0x1c, "Sanitize Failed"},
	{0x1d, "Sanitize In Progress"},
	{0x1e, "SGL Data Block Granularity Invalid"},
	{0x1f, "Command Not Supported for Queue in CMB"},
	{0x20, "Namespace is Write Protected"},
	{0x21, "Command Interrupted"},
	{0x22, "Transient Transport Error"},
	{0x80, "LBA Out of Range"},
	{0x81, "Capacity Exceeded"},
	{0x82, "Namespace Not Ready"},
	{0x83, "Reservation Conflict"},
	{0x84, "Format In Progress"},
};

/* SC 80h-91h here are the Fabrics (Connect/Discovery) meanings, not the NVM ones. */
static const struct status_name g_cmd_specific[] = {
	{0x00, "Completion Queue Invalid"},
	{0x01, "Invalid Queue Identifier"},
	{0x02, "Invalid Queue Size"},
	{0x03, "Abort Command Limit Exceeded"},
	{0x05, "Asynchronous Event Request Limit Exceeded"},
	{0x06, "Invalid Firmware Slot"},
	{0x07, "Invalid Firmware Image"},
	{0x08, "Invalid Interrupt Vector"},
	{0x09, "Invalid Log Page"},
	{0x0a, "Invalid Format"},
	{0x0c, "Invalid Queue Deletion"},
	{0x0d, "Feature Identifier Not Saveable"},
	{0x0e, "Feature Not Changeable"},
	{0x0f, "Feature Not Namespace Specific"},
	{0x14, "Overlapping Range"},
	{0x15, "Namespace Insufficient Capacity"},
	{0x16, "Namespace Identifier Unavailable"},
	{0x18, "Namespace Already Attached"},
	{0x19, "Namespace Is Private"},
	{0x1a, "Namespace Not Attached"},
	{0x1c, "Controller List Invalid"},
	{0x80, "Connect Incompatible Format"},
	{0x81, "Connect Controller Busy"},
	{0x82, "Connect Invalid Parameters"},
	{0x83, "Connect Restart Discovery"},
	{0x84, "Connect Invalid Host"},
	{0x90, "Discover Restart"},
	{0x91, "Authentication Required"},
};

static const struct status_name g_media[] = {
	{0x80, "Write Fault"},
	{0x81, "Unrecovered Read Error"},
	{0x82, "End-to-end Guard Check Error"},
	{0x83, "End-to-end Application Tag Check Error"},
	{0x84, "End-to-end Reference Tag Check Error"},
	{0x85, "Compare Failure"},
	{0x86, "Access Denied"},
	{0x87, "Deallocated or Unwritten Logical Block"},
};

static const struct status_name g_path[] = {
	{0x00, "Internal Path Error"},
	{0x01, "Asymmetric Access Persistent Loss"},
	{0x02, "Asymmetric Access Inaccessible"},
	{0x03, "Asymmetric Access Transition"},
	{0x60, "Controller Pathing Error"},
	{0x70, "Host Pathing Error"},
	{0x71, "Command Aborted By Host"},
};

static const char *status_lookup(const struct status_name *t, size_t n, uint8_t sc)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].sc == sc)
			return t[i].name;
	}
	return NULL;
}

const char *unvmf_host_status_str(uint8_t sct, uint8_t sc)
{
	const char *name = NULL;

	switch (sct) {
	case 0:
		name = status_lookup(g_generic, UNVMF_ARRAY_SIZE(g_generic), sc);
		break;
	case 1:
		name = status_lookup(g_cmd_specific, UNVMF_ARRAY_SIZE(g_cmd_specific), sc);
		break;
	case 2:
		name = status_lookup(g_media, UNVMF_ARRAY_SIZE(g_media), sc);
		break;
	case 3:
		name = status_lookup(g_path, UNVMF_ARRAY_SIZE(g_path), sc);
		break;
	case 7:
		return "Vendor Specific";
	default:
		break;
	}
	return name ? name : "Unknown Status";
}

const char *unvmf_host_fes_str(uint16_t fes)
{
	switch (fes) {
	case 0x01:
		return "Invalid PDU Header Field";
	case 0x02:
		return "PDU Sequence Error";
	case 0x03:
		return "Header Digest Error";
	case 0x04:
		return "Data Transfer Out of Range";
	case 0x05:
		return "Data Transfer Limit Exceeded";
	case 0x06:
		return "Unsupported Parameter";
	default:
		return "Unknown FES";
	}
}
