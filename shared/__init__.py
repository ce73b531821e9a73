"""What every Tertulia service needs: contracts, the bus, tokens, db and observability helpers."""
