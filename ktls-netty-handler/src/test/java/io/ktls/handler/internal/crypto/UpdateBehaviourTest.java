package io.ktls.handler.internal.crypto;

import io.ktls.handler.crypto.AeadAlgorithm;
import io.ktls.handler.crypto.AeadProviders;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UpdateBehaviourTest {

    /** The heap seal path relies on this probe to skip the 16-byte reserve where the provider allows it. */
    @Test
    void probeTellsWhichProvidersAcceptAnExactOutput() {
        assertTrue(UpdateBehaviour.acceptsExactOutput(AeadProviders.sunJce(), AeadAlgorithm.AES_GCM));
        assertFalse(UpdateBehaviour.acceptsExactOutput(AeadProviders.amazonCorretto().get(), AeadAlgorithm.AES_GCM));
    }
}
