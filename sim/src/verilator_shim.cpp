// The C interface of a Verilated accelerator (top module `top`), loaded by
// the Verilator engine (verilator.rs): the stream design, or with
// LSTM_ACCEL_SERIAL defined the serial design (UART pins instead of streams). One call runs one clock cycle, so
// that a cycle costs one foreign call and two evaluations: inputs applied
// with the clock low and settled (the handshakes sampled there, as at a
// rising edge), then the rising edge. The falling edge is folded into the
// next call, where the clock goes low together with the new inputs.

#include "Vtop.h"
#include "verilated.h"
#include <cstdint>
#ifdef LSTM_ACCEL_TRACE
#include "verilated_vcd_c.h"
#endif

namespace {
struct Handle {
    VerilatedContext ctx;
    Vtop* top;
    uint64_t cycles;
#ifdef LSTM_ACCEL_TRACE
    VerilatedVcdC* vcd;
#endif
};
// Ends a cycle whose inputs were applied and settled with the clock low:
// records that half, then the rising edge, and counts the cycle.
void rising_edge(Handle* h) {
#ifdef LSTM_ACCEL_TRACE
    if (h->vcd) h->vcd->dump(h->cycles * 10000);
#endif
    h->top->clock = 1;
    h->top->eval();
#ifdef LSTM_ACCEL_TRACE
    if (h->vcd) h->vcd->dump(h->cycles * 10000 + 5000);
#endif
    h->cycles += 1;
}
}  // namespace

extern "C" {

// Bit positions of `flags` and of the returned word.
enum : uint32_t {
    IN_VALID = 1u,
    IN_LAST = 2u,
    OUT_READY = 4u,
    RESET = 8u,
    ACCEPTED = 1u,
    OUT_VALID = 2u,
    OUT_LAST = 4u,
    BUSY = 8u,
};

void* lstm_accel_new(void) {
    Handle* h = new Handle;
#ifdef LSTM_ACCEL_TRACE
    h->ctx.traceEverOn(true);
    h->vcd = nullptr;
#endif
    h->top = new Vtop(&h->ctx, "top");
    h->cycles = 0;
    h->top->clock = 0;
    h->top->reset = 0;
    h->top->eval();
    return h;
}

void lstm_accel_free(void* p) {
    Handle* h = static_cast<Handle*>(p);
#ifdef LSTM_ACCEL_TRACE
    if (h->vcd) {
        h->vcd->close();
        delete h->vcd;
    }
#endif
    h->top->final();
    delete h->top;
    delete h;
}

// Starts a VCD recording (returns 0), or returns 1 if tracing was not
// compiled in.
int lstm_accel_trace(void* p, const char* path) {
#ifdef LSTM_ACCEL_TRACE
    Handle* h = static_cast<Handle*>(p);
    if (!h->vcd) {
        h->vcd = new VerilatedVcdC;
        h->top->trace(h->vcd, 99);
        h->vcd->open(path);
    }
    return 0;
#else
    (void)p;
    (void)path;
    return 1;
#endif
}

#ifndef LSTM_ACCEL_SERIAL
uint32_t lstm_accel_cycle(void* p, uint32_t tdata, uint32_t flags, uint32_t* out_data) {
    Handle* h = static_cast<Handle*>(p);
    Vtop* t = h->top;
    t->clock = 0;
    t->s_tdata = tdata;
    t->s_tvalid = (flags & IN_VALID) ? 1 : 0;
    t->s_tlast = (flags & IN_LAST) ? 1 : 0;
    t->m_tready = (flags & OUT_READY) ? 1 : 0;
    t->reset = (flags & RESET) ? 1 : 0;
    t->eval();
    uint32_t r = 0;
    if ((flags & IN_VALID) && t->s_tready) r |= ACCEPTED;
    if ((flags & OUT_READY) && t->m_tvalid) {
        r |= OUT_VALID;
        if (t->m_tlast) r |= OUT_LAST;
        *out_data = static_cast<uint32_t>(t->m_tdata);
    }
    if (t->busy & 1) r |= BUSY;
    rising_edge(h);
    return r;
}
#else
// One cycle of the serial design with bit 0 of `pins` as the line in and
// bit 1 as the reset request; returns the pins
// after the rising edge: bit 0 tx, bit 1 busy, bit 2 link_error.
uint32_t lstm_accel_serial_cycle(void* p, uint32_t pins) {
    Handle* h = static_cast<Handle*>(p);
    Vtop* t = h->top;
    t->clock = 0;
    t->rx = pins & 1;
    t->reset = (pins >> 1) & 1;
    t->eval();
    rising_edge(h);
    return (t->tx & 1) | ((t->busy & 1) << 1) | ((t->link_error & 1) << 2);
}
#endif

}  // extern "C"
