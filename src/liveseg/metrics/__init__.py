"""liveseg.metrics"""
